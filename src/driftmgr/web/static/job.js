// Follows a job live: events over the WebSocket (session cookie), with the REST API read once after
// subscribing and at the end; falls back to polling the REST API once a second if the socket fails.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.done === "true") return;
  var id = box.dataset.jobId;
  var terminal = { succeeded: true, failed: true, cancelled: true };
  var finished = false;
  function text(elId, value) { var el = document.getElementById(elId); if (el) el.textContent = value; }
  function show(pct, message) {
    pct = Math.round(pct || 0);
    text("job-percent", pct + "%");
    if (message !== undefined) text("job-message", message || "");
    var bar = document.getElementById("job-progress");
    if (bar) { bar.value = pct; bar.textContent = pct + "%"; }
  }
  function update(job) {
    text("job-status", job.status);
    show(job.progress, job.message);
    var err = document.getElementById("job-error");
    if (err) { err.textContent = job.error || ""; err.hidden = !job.error; }
    if (job.result && job.result.scan_id) {
      var link = document.getElementById("job-scan-link");
      link.href = "/scans/" + encodeURIComponent(job.result.scan_id);
      document.getElementById("job-result").hidden = false;
    }
    box.dataset.status = job.status;
    finished = terminal[job.status] === true;
    return finished;
  }
  function read() {
    return fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(update);
  }
  function poll() {
    read().then(function (done) { if (!done) setTimeout(poll, 1000); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (!("WebSocket" in window)) { setTimeout(poll, 1000); return; }
  var socket;
  try {
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/ws");
  } catch (e) { setTimeout(poll, 1000); return; }
  box.dataset.live = "connecting";
  socket.onmessage = function (msg) {
    var data;
    try { data = JSON.parse(msg.data); } catch (e) { return; }
    if (data.type === "welcome") { socket.send(JSON.stringify({ subscribe: ["job.*"] })); return; }
    if (data.type === "subscribed") {
      box.dataset.live = "websocket";
      read().then(function (done) { if (done) socket.close(); }).catch(function () {});
      return;
    }
    if (data.job_id !== id) return;
    box.dataset.events = String((+box.dataset.events || 0) + 1);  // how many arrived live
    if (data.type === "job.progress" && data.payload) {
      text("job-status", "running");
      show(data.payload.percent, data.payload.message);
    } else if (data.type === "job.started") {
      text("job-status", "running");
    } else if (/^job\.(succeeded|failed|cancelled|retrying)$/.test(data.type)) {
      read().then(function (done) { if (done) socket.close(); }).catch(function () {});
    }
  };
  socket.onclose = function () {
    if (!finished) { box.dataset.live = "polling"; setTimeout(poll, 1000); }
  };
})();
