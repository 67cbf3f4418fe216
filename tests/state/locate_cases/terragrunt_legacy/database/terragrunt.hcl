# shallow merge (the default): this remote_state replaces the root's entirely
include {
  path = find_in_parent_folders()
}

locals {
  env = "prod"
}

remote_state {
  backend = "azurerm"
  config = {
    resource_group_name  = "tfstate-rg"
    storage_account_name = "acmedb${local.env}"
    container_name       = "tfstate"
    key                  = "${path_relative_to_include()}/database.tfstate"
  }
}
