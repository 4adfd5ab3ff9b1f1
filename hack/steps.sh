# Steps of hack/test: each one's start and end, in the foreground or in the
# background beside the others, and at the end a table of their times that
# says which ran beside which. Sourced; needs STEP_LOGS (a folder).

STEP_KEYS=() STEP_TITLES=() STEP_START=() STEP_END=()
FG=-1                 # index of the foreground step running, -1 if none
STEP_T0=$(($(date +%s) - SECONDS)) # the run's start, in seconds since the epoch
declare -A BG_PID=()  # key -> pid of a background step still running

new_step() { # key title: its index in REPLY
  STEP_KEYS+=("$1") STEP_TITLES+=("$2") STEP_START+=("$SECONDS") STEP_END+=("")
  REPLY=$((${#STEP_KEYS[@]} - 1))
}

index_of() { # key: its index in REPLY
  local i
  # `return 0`, not `return`: in the EXIT trap of a failed run, a bare
  # `return` gives the status of the command that failed.
  for i in "${!STEP_KEYS[@]}"; do [[ ${STEP_KEYS[i]} == "$1" ]] && { REPLY=$i; return 0; }; done
  return 1
}

# Ends the foreground step, if one runs.
step_done() {
  ((FG >= 0)) && STEP_END[FG]=$SECONDS
  FG=-1
}

# step KEY TITLE: the next foreground step (ending the one before).
step() {
  step_done
  new_step "$1" "$2"
  FG=$REPLY
  printf '\n== %s (%ss so far)\n' "$2" "$SECONDS"
}

# background KEY TITLE CMD...: runs CMD beside the next steps, in a process
# group of its own, its output in $STEP_LOGS/KEY.log until `finish KEY`.
background() {
  local key=$1 title=$2
  shift 2
  new_step "$key" "$title (in the background)"
  setsid "$@" >"$STEP_LOGS/$key.log" 2>&1 </dev/null &
  BG_PID[$key]=$!
  printf '\n== started in the background: %s (%ss so far; output in %s)\n' \
    "$title" "$SECONDS" "$STEP_LOGS/$key.log"
}

# log_end KEY: when a background step that ended did so, in seconds since
# the run's start: the time of its log's last line, maybe long before it
# was waited for.
log_end() {
  echo $(($(stat -c %Y "$STEP_LOGS/$1.log") - STEP_T0))
}

# finish KEY: shows the background step's output (as it comes, while it
# still runs) and fails if the step failed.
finish() {
  local key=$1 pid=${BG_PID[$1]} rc=0
  index_of "$key"
  local i=$REPLY
  step_done
  printf '\n== %s: its output (%ss so far)\n' "${STEP_TITLES[i]}" "$SECONDS"
  tail -n +1 -f --pid="$pid" "$STEP_LOGS/$key.log"
  wait "$pid" || rc=$?
  STEP_END[i]=$(log_end "$key")
  unset "BG_PID[$key]"
  ((rc == 0)) || { echo "${STEP_TITLES[i]} failed (exit $rc)"; return "$rc"; }
}

# Stops the background steps still running (on a failure), each by its group.
stop_background() {
  local key
  for key in "${!BG_PID[@]}"; do
    index_of "$key" || continue
    if kill -0 "${BG_PID[$key]}" 2>/dev/null; then
      kill -TERM -- "-${BG_PID[$key]}" 2>/dev/null || true
      STEP_END[REPLY]="$SECONDS (stopped)"
    else
      STEP_END[REPLY]=$(log_end "$key")
    fi
  done
}

# The table: each step's start, end and time in seconds since the run
# began, and the steps that ran beside it.
step_table() {
  step_done
  local i j beside end_i end_j
  printf '\n== steps (seconds since the start; "beside": the steps that ran at the same time)\n'
  printf '%-12s %6s %6s %6s  %-28s %s\n' step start end time beside title
  for i in "${!STEP_KEYS[@]}"; do
    end_i=${STEP_END[i]:-$SECONDS}
    end_i=${end_i%% *}
    beside=""
    for j in "${!STEP_KEYS[@]}"; do
      end_j=${STEP_END[j]:-$SECONDS}
      end_j=${end_j%% *}
      ((i != j && STEP_START[j] < end_i && STEP_START[i] < end_j)) && beside+="${beside:+,}${STEP_KEYS[j]}"
    done
    printf '%-12s %6s %6s %6s  %-28s %s\n' "${STEP_KEYS[i]}" "${STEP_START[i]}" "${STEP_END[i]:-$SECONDS}" \
      "$((end_i - STEP_START[i]))" "${beside:--}" "${STEP_TITLES[i]}"
  done
  printf '%-12s %6s %6s %6s\n' total 0 "$SECONDS" "$SECONDS"
}
