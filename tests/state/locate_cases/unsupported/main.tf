terraform {
  backend "consul" {
    address = "consul.acme.internal:8500"
    path    = "tf/app"
  }
}
