locals {
  # Every name carries the prefix and the suffix; the hostname stays inside the PoC label.
  name     = "${var.name_prefix}${var.name_suffix}"
  hostname = "${var.hostname_label}.${var.zone_name}"
}
