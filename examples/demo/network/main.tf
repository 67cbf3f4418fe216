resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
  tags       = { Name = "demo" }
}
resource "aws_subnet" "private" {
  for_each   = { a = "10.20.1.0/24", b = "10.20.2.0/24" }
  vpc_id     = aws_vpc.main.id
  cidr_block = each.value
  tags       = { Name = "private-${each.key}" }
}
output "vpc_id" { value = aws_vpc.main.id }
output "subnet_ids" { value = { for k, s in aws_subnet.private : k => s.id } }
