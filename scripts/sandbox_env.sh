# Source it: points every sandbox extractor of meltano.yml at the sandbox on 127.0.0.1:$SANDBOX_PORT
# (default 8765), as scripts/demo.sh does:
#   SANDBOX_PORT=18765 source scripts/sandbox_env.sh && meltano run tap-restgeneric--learning target-duckdb
# meltano.yml says http://127.0.0.1:8765/<api>; the variable Meltano derives for one extractor's
# setting (TAP_RESTGENERIC__LEARNING_BASE_URL) wins over it. A variable of meltano.yml's own `env:`
# would not do: Meltano prefers it to the shell's.
SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT:-8765}"
export SANDBOX_URL
for sandbox_api in learning certifications social_insights incidents operations tracker; do
  export "TAP_RESTGENERIC__${sandbox_api^^}_BASE_URL=${SANDBOX_URL}/${sandbox_api}"
done
unset sandbox_api
