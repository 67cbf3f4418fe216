include "root" {
  path           = find_in_parent_folders()
  merge_strategy = "deep"
}

remote_state {
  config = {
    prefix = "custom/${basename(get_terragrunt_dir())}"
  }
}
