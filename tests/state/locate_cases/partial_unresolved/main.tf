terraform {
  backend "azurerm" {
    container_name = "tfstate"
  }
}
