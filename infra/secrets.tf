# Only the secret containers live in code; the operator puts the values (infra/README.md, step 4).
resource "aws_secretsmanager_secret" "card_api" {
  name                    = var.card_api_secret_name
  description             = "cardlake card API credentials: JSON {email, password, totp_secret, client_id, refresh_token}"
  kms_key_id              = aws_kms_key.cardlake.arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret" "pan_token_key" {
  name                    = var.pan_token_key_secret_name
  description             = "cardlake HMAC-SHA256 key that tokenises card numbers (plain string, >= 32 random bytes)"
  kms_key_id              = aws_kms_key.cardlake.arn
  recovery_window_in_days = var.secret_recovery_window_days
}
