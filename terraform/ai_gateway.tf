# Optional: an AI Gateway for LLM routing and logs (instead of LiteLLM).
resource "cloudflare_ai_gateway" "poc" {
  count                      = var.enable_ai_gateway ? 1 : 0
  account_id                 = var.account_id
  id                         = local.name
  cache_invalidate_on_update = false
  cache_ttl                  = 0
  collect_logs               = true
  rate_limiting_interval     = 60
  rate_limiting_limit        = 120
  rate_limiting_technique    = "sliding"
}
