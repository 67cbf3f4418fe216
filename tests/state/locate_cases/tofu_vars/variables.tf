variable "state_bucket" {
  type    = string
  default = "acme-default-tfstate"
}

variable "env" {
  type    = string
  default = "dev"
}
