#!/usr/bin/env bash
# Hubbard data set v3, end to end and resumable: the settings study, then the campaign at its settings
# (started once the study has chosen every k mesh, beside the study's last points).
# Niced (QE yields to interactive work); two single-rank QE runs side by side (parallel_paths: 2).
# Logs: scratch/v3_settings.log, scratch/v3_campaign.log. Graceful stop: touch scratch/hubbard_v3*/STOP
# (running calculations finish); or stop now: kill -TERM -- -<pid of this script> when started with setsid
# (the whole group: QE runs are stopped and left interrupted, finished hp.x pieces are kept).
# Start it in the background on a fresh clone (it runs `make setup qe` first when the venv or QE is missing):
#   nohup scripts/hubbard_v3_campaign.sh > scratch/v3_driver.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p scratch
if [ ! -x .venv/bin/python ] || ! command -v pw.x > /dev/null; then
  make setup qe
fi
export PATH="$PWD/.venv/bin:$PATH"
# With autogroup scheduling a session's CPU share ignores nice: give this session (and, through
# matdisco.core.cluster.share_niceness, each QE run's own session) the nice value too.
echo 19 > /proc/self/autogroup 2>/dev/null || true

# True once the settings study has chosen the k mesh of every campaign material (all the campaign needs).
k_meshes_chosen() {
  python - << 'EOF'
import sys
from matdisco.core.config import compose
from matdisco.hubbard.campaign import planned_paths
from matdisco.hubbard.simulate import campaign_of
paths = planned_paths(campaign_of(compose(["simulate=dfpt_v3"])))
sys.exit(0 if all(path.material.kpts for path in paths) else 1)
EOF
}

nice -n 19 python pipelines/simulate.py simulate=dfpt_v3_settings >> scratch/v3_settings.log 2>&1 &
study=$!
# The campaign starts as soon as every k mesh is chosen, while the study's last points (the q4 checks) may
# still run: no core idles behind the study's slowest point. Up to four single-rank runs then share the
# two cores (QE CPU times, which the records keep, do not depend on it; wall times do).
while kill -0 "$study" 2> /dev/null && ! k_meshes_chosen 2> /dev/null; do
  sleep 300
done
nice -n 19 python pipelines/simulate.py simulate=dfpt_v3 >> scratch/v3_campaign.log 2>&1
wait "$study"
