# The usual tutorial Dockerfile, for comparison only: bench/image.py builds it beside ours.
# Same base; compilers and headers installed; the code copied before the dependencies, so any
# change reinstalls them; nothing cleaned up.
FROM debian:trixie-slim
RUN apt-get update && apt-get install -y build-essential python3-dev python3-pip cron
WORKDIR /app
COPY . .
RUN pip3 install --break-system-packages -r requirements.txt
CMD ["cron", "-f"]
