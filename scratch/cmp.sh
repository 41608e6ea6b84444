#!/bin/bash
# fresh DB: demo seed N, then import N fresh rows; prints times
N=${1:-10000}
export POLICY_DIR=/work/main/policies
for kind in seed import; do
  export CUSTOS_DATA_DIR=/tmp/imp/cmp-$kind; rm -rf $CUSTOS_DATA_DIR
  node bin/custos migrate >/dev/null 2>&1
  if [ $kind = seed ]; then /usr/bin/time -f "seed $N: %e s %M KB" node bin/custos demo seed --subjects $N --json >/dev/null 2>/tmp/imp/err; tail -1 /tmp/imp/err
  else node bin/custos apps create --name CRM --purposes marketing,support --json > /tmp/imp/appc.json 2>/dev/null; APP=$(node -e "console.log(require('/tmp/imp/appc.json').clientId)"); node scratch/gen.mjs $N 5000000 > /tmp/imp/cmp.ndjson; /usr/bin/time -f "import $N: %e s %M KB" node bin/custos import /tmp/imp/cmp.ndjson --app $APP > /dev/null 2>/tmp/imp/err; tail -1 /tmp/imp/err; fi
done
