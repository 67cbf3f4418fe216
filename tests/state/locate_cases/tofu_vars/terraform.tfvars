state_bucket = "acme-tofu-tfstate"
