"""The web GUI: server-rendered pages (pages.py) over the service layer, own CSS/JS (static/), no CDN."""
