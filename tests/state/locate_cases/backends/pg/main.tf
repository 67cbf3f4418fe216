terraform {
  backend "pg" {
    conn_str    = "postgres://tf@db.acme.internal/terraform_backend?sslmode=require"
    schema_name = "app_prod"
  }
}
