# The PoC hostname: a Workers custom domain (a CNAME to *.workers.dev fails with error 1014).
resource "cloudflare_workers_custom_domain" "poc" {
  account_id = var.account_id
  zone_id    = var.zone_id
  hostname   = local.hostname
  service    = var.worker_name
}
