# openclaw-ondemand: what Terraform owns (hostname, Access, R2, optional AI
# Gateway). Wrangler owns the Worker, the Durable Object and the container.
#
# No state backend is configured here: add one for your team in a
# `backend.tf` that is not committed, or pass `-backend-config` (see README).
terraform {
  required_version = ">= 1.6"
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.22"
    }
  }
}

# The API token comes from CLOUDFLARE_API_TOKEN (see docs/runbook.md for its permissions).
provider "cloudflare" {}
