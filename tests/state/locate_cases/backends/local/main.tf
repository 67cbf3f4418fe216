terraform {
  backend "local" {
    path          = "state/app.tfstate"
    workspace_dir = "state/workspaces"
  }
}
