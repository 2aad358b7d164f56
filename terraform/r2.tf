# Backups of the assistant's state. Import an existing bucket with the id
# "<account_id>/<bucket_name>/" (empty jurisdiction keeps the trailing slash).
resource "cloudflare_r2_bucket" "backups" {
  account_id = var.account_id
  name       = "${local.name}-backups"
}

resource "cloudflare_r2_bucket_lifecycle" "backups" {
  account_id  = var.account_id
  bucket_name = cloudflare_r2_bucket.backups.name
  rules = [
    {
      id         = "${local.name}-expire-old-backups"
      enabled    = true
      conditions = { prefix = "backups/" }
      delete_objects_transition = {
        condition = {
          type    = "Age"
          max_age = var.backup_expire_days * 86400
        }
      }
    },
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
