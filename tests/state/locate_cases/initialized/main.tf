terraform {
  # settings come from -backend-config=... at init time
  backend "s3" {}
}

resource "aws_sqs_queue" "jobs" {
  name = "jobs"
}
