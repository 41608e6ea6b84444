#!/bin/bash
N=${1:-10000}
export POLICY_DIR=/work/main/policies
for kind in seed import; do
  export CUSTOS_DATA_DIR=/tmp/imp/cmppg-$kind; rm -rf $CUSTOS_DATA_DIR; mkdir -p $CUSTOS_DATA_DIR
  export CUSTOS_MASTER_KEY=$(head -c32 /dev/urandom | base64)
  export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test?schema=cmp_$kind"
  psql -q -o /dev/null -h 127.0.0.1 -U postgres test -c "DROP SCHEMA IF EXISTS cmp_$kind CASCADE" 2>/dev/null
  node bin/custos migrate >/dev/null 2>&1
  if [ $kind = seed ]; then /usr/bin/time -f "pg seed $N: %e s %M KB" node bin/custos demo seed --subjects $N --json >/dev/null 2>/tmp/imp/err; tail -1 /tmp/imp/err
  else node bin/custos apps create --name CRM --purposes marketing,support --json > /tmp/imp/appc.json 2>/dev/null; APP=$(node -e "console.log(require('/tmp/imp/appc.json').clientId)"); node scratch/gen.mjs $N 5000000 > /tmp/imp/cmp.ndjson; /usr/bin/time -f "pg import $N: %e s %M KB" node bin/custos import /tmp/imp/cmp.ndjson --app $APP > /tmp/imp/out 2>/tmp/imp/err; tail -1 /tmp/imp/err; head -1 /tmp/imp/out; fi
done
