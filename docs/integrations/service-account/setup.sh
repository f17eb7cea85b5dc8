#!/bin/bash
# Registers the Orders API as a resource, a service account allowed to read
# it, and that account's key (a private_key_jwt client), then writes what
# call-api.mjs needs to orders-bot.env. Run it once, where the portcullis
# CLI reaches the store, in the directory that is to keep the private key.
#
#   RESOURCE=https://orders.example.com ./setup.sh
#
# PORTCULLIS names the CLI (default: portcullis); it finds its store
# through PORTCULLIS_CONFIG, PORTCULLIS_DATA_DIR or PORTCULLIS_STORE_URL
# as usual. Needs node (for keygen.mjs) and jq.
set -euo pipefail
PORTCULLIS=${PORTCULLIS:-portcullis}
RESOURCE=${RESOURCE:-https://orders.example.com}
here=$(dirname "$0")
umask 077

# 1. The API: its resource URI is the audience of every token for it.
#    resource add also makes the API's own client (for /introspect); this
#    API verifies tokens offline, so only its id is kept here.
$PORTCULLIS resource add --id "$RESOURCE" --name "Orders API" \
  --scope "orders:read orders:write" --json | jq '{id, scopes, client_id}'

# 2. The service account: may read orders, from this API only.
svc=$($PORTCULLIS service-account add --name orders-bot \
  --description "reads orders for the nightly report" \
  --scope "orders:read" --resource "$RESOURCE" --json | jq -r .id)

# 3. Its key: a key pair made here; Portcullis gets the public half only.
kid=$(node "$here/keygen.mjs" orders-bot)
client=$($PORTCULLIS client add --name orders-bot-key --service-account "$svc" \
  --auth-method private_key_jwt --jwks-file orders-bot.jwks.json --json | jq -r .client_id)

cat > orders-bot.env <<EOT
CLIENT_ID=$client
KEY_ID=$kid
KEY_FILE=$PWD/orders-bot.key.pem
RESOURCE=$RESOURCE
EOT
echo "service account $svc, client $client, key $kid: settings in orders-bot.env"
