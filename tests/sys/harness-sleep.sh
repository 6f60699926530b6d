# Runs past the harness timeout on purpose.
sleep 600
