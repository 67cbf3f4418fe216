terraform {
  backend "http" {
    address        = "https://tfstate.acme.internal/state/app"
    lock_address   = "https://tfstate.acme.internal/state/app/lock"
    unlock_address = "https://tfstate.acme.internal/state/app/lock"
    unlock_method  = "DELETE"
    username       = "terraform"
    password       = "hunter2"
  }
}
