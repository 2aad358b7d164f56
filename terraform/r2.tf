# Backups of the assistant's state. Import an existing bucket with the id
# "<account_id>/<bucket_name>/" (empty jurisdiction keeps the trailing slash).
resource "cloudflare_r2_bucket" "backups" {
  account_id = var.account_id
  name       = "${local.name}-backups"
}

# No rule deletes backups by age: an assistant that sleeps or hibernates for
# months makes no new backups, and its newest must still be there when it
# wakes. The Worker prunes superseded backups itself, by age tiers (README:
# Backup retention); only multipart uploads left half-done are cleaned here.
resource "cloudflare_r2_bucket_lifecycle" "backups" {
  account_id  = var.account_id
  bucket_name = cloudflare_r2_bucket.backups.name
  rules = [
    {
      id         = "${local.name}-abort-stale-uploads"
      enabled    = true
      conditions = { prefix = "" }
      abort_multipart_uploads_transition = {
        condition = {
          type    = "Age"
          max_age = 86400
        }
      }
    },
  ]
}

# The R2 token the Worker presigns backup transfers with (secrets
# R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY, see outputs.tf): read and write the
# objects of this one bucket, nothing else. The container never holds it.
locals {
  # Cloudflare's permission groups "Workers R2 Storage Bucket Item Read" / "... Write".
  r2_bucket_item_read  = "6a018a9f2fc74eb6b293b0c548f38b39"
  r2_bucket_item_write = "2efd5506f9c8494dacb1fa10a3e7d5b6"
}

resource "cloudflare_account_token" "backups" {
  account_id = var.account_id
  name       = "${local.name}-backups"
  policies = [
    {
      effect            = "allow"
      permission_groups = [{ id = local.r2_bucket_item_read }, { id = local.r2_bucket_item_write }]
      resources         = jsonencode({ "com.cloudflare.edge.r2.bucket.${var.account_id}_default_${cloudflare_r2_bucket.backups.name}" = "*" })
    },
  ]
}
