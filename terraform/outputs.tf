# What the Worker's configuration needs (wrangler.jsonc vars and secrets; see docs/runbook.md).

output "hostname" {
  description = "The PoC's hostname (PUBLIC_ORIGINS = https://<hostname>)."
  value       = local.hostname
}

output "access_aud" {
  description = "ACCESS_AUD: the Access application's AUD tag."
  value       = cloudflare_zero_trust_access_application.poc.aud
}

output "team_domain" {
  description = "ACCESS_TEAM_DOMAIN."
  value       = var.team_domain
}

output "service_token_client_id" {
  description = "CF-Access-Client-Id for clawctl (and ACCESS_SERVICE_TOKEN_IDS)."
  value       = cloudflare_zero_trust_access_service_token.cli.client_id
}

output "service_token_client_secret" {
  description = "CF-Access-Client-Secret for clawctl."
  value       = cloudflare_zero_trust_access_service_token.cli.client_secret
  sensitive   = true
}

output "backup_bucket_name" {
  description = "r2_buckets[0].bucket_name in wrangler.jsonc."
  value       = cloudflare_r2_bucket.backups.name
}

output "ai_gateway_openai_base_url" {
  description = "OPENAI_BASE_URL through the AI Gateway (when enabled)."
  value       = var.enable_ai_gateway ? "https://gateway.ai.cloudflare.com/v1/${var.account_id}/${local.name}/compat" : null
}

output "r2_access_key_id" {
  description = "Worker secret R2_ACCESS_KEY_ID: the backup bucket's R2 token (its id is the S3 access key id)."
  value       = cloudflare_account_token.backups.id
}

output "r2_secret_access_key" {
  description = "Worker secret R2_SECRET_ACCESS_KEY: the SHA-256 of the R2 token's value (R2's S3 secret access key)."
  value       = sha256(cloudflare_account_token.backups.value)
  sensitive   = true
}
