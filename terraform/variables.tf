variable "account_id" {
  description = "Cloudflare account id."
  type        = string
}

variable "zone_id" {
  description = "Zone id of the domain the PoC hostname lives under."
  type        = string
}

variable "zone_name" {
  description = "The zone's domain, e.g. example.com."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every name this PoC creates."
  type        = string
  default     = "openclaw-ondemand"
}

variable "name_suffix" {
  description = "Suffix of every name this PoC creates, so nothing collides with an existing environment."
  type        = string
  default     = "-poc"
  validation {
    condition     = length(var.name_suffix) > 0
    error_message = "name_suffix must not be empty: it keeps the PoC apart from the existing environment."
  }
}

variable "hostname_label" {
  description = "Left-most label of the PoC hostname (hostname = <label>.<zone_name>)."
  type        = string
  default     = "openclaw-poc"
}

variable "worker_name" {
  description = "Name of the Worker wrangler deploys (wrangler.jsonc `name`)."
  type        = string
  default     = "openclaw-ondemand-poc"
}

variable "team_domain" {
  description = "Zero Trust team domain, https://<team>.cloudflareaccess.com (becomes ACCESS_TEAM_DOMAIN)."
  type        = string
}

variable "allowed_emails" {
  description = "People allowed in (an Access policy for people)."
  type        = list(string)
  default     = []
}

variable "github_organization" {
  description = "Optional GitHub organisation whose members are required (needs the GitHub identity provider)."
  type        = string
  default     = ""
}

variable "github_identity_provider_id" {
  description = "Id of the GitHub identity provider in Zero Trust (for github_organization)."
  type        = string
  default     = ""
}

variable "access_session_duration" {
  description = "How long an Access login lasts."
  type        = string
  default     = "24h"
}

variable "service_token_duration" {
  description = "Lifetime of the CLI's Access service token."
  type        = string
  default     = "8760h"
}

variable "enable_ai_gateway" {
  description = "Create an AI Gateway for LLM routing (its OpenAI-compatible URL becomes OPENAI_BASE_URL)."
  type        = bool
  default     = false
}

variable "enable_telegram_webhook" {
  description = "Let Telegram reach the bot's webhook (/_ondemand/inbox/telegram) past Access: the Worker authenticates it with TELEGRAM_WEBHOOK_SECRET instead."
  type        = bool
  default     = false
}
