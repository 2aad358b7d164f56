# Cloudflare Access in front of the PoC hostname: people through the identity
# provider, the CLI through a service token. Provider v5 syntax: reusable
# policies referenced by id, `include = [{ ... }]` attributes, `destinations`.

resource "cloudflare_zero_trust_access_service_token" "cli" {
  account_id = var.account_id
  name       = "${local.name}-cli"
  duration   = var.service_token_duration
}

resource "cloudflare_zero_trust_access_policy" "people" {
  account_id       = var.account_id
  name             = "${local.name} people"
  decision         = "allow"
  session_duration = var.access_session_duration
  include          = [for email in var.allowed_emails : { email = { email = email } }]
  require = var.github_organization == "" ? null : [{
    github_organization = {
      name                 = var.github_organization
      identity_provider_id = var.github_identity_provider_id
    }
  }]
}

resource "cloudflare_zero_trust_access_policy" "cli" {
  account_id = var.account_id
  name       = "${local.name} cli"
  decision   = "non_identity"
  include = [{
    service_token = {
      token_id = cloudflare_zero_trust_access_service_token.cli.id
    }
  }]
}

resource "cloudflare_zero_trust_access_application" "poc" {
  account_id                = var.account_id
  name                      = local.name
  type                      = "self_hosted"
  session_duration          = var.access_session_duration
  auto_redirect_to_identity = false
  # The session cookie (CF_Authorization): no script can read it, and no other
  # site's request carries it — except a top-level navigation to the PoC (lax,
  # not strict: Access's own login redirect back to the app is one). The Worker
  # checks Origin on top (src/auth/request-guard.ts).
  same_site_cookie_attribute = "lax"
  http_only_cookie_attribute = true
  destinations = [{
    type = "public"
    uri  = local.hostname
  }]
  policies = [
    {
      id         = cloudflare_zero_trust_access_policy.people.id
      precedence = 1
    },
    {
      id         = cloudflare_zero_trust_access_policy.cli.id
      precedence = 2
    },
  ]
}

# Telegram's webhook (README: Telegram while it sleeps): Telegram has no Access
# token, so this one path is its own application with a bypass policy; the
# Worker authenticates each call by the secret Telegram sends back
# (TELEGRAM_WEBHOOK_SECRET) and takes messages only from
# TELEGRAM_ALLOWED_USER_IDS. A more specific path's application wins over
# the hostname's.
resource "cloudflare_zero_trust_access_policy" "telegram_webhook" {
  count      = var.enable_telegram_webhook ? 1 : 0
  account_id = var.account_id
  name       = "${local.name} telegram webhook"
  decision   = "bypass"
  include    = [{ everyone = {} }]
}

resource "cloudflare_zero_trust_access_application" "telegram_webhook" {
  count      = var.enable_telegram_webhook ? 1 : 0
  account_id = var.account_id
  name       = "${local.name} telegram webhook"
  type       = "self_hosted"
  destinations = [{
    type = "public"
    uri  = "${local.hostname}/_ondemand/inbox/telegram"
  }]
  policies = [{
    id         = cloudflare_zero_trust_access_policy.telegram_webhook[0].id
    precedence = 1
  }]
}
