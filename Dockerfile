# Image for the scale-out deployment in docker-compose.yml (not buildable on the
# development machines, which have no Docker engine).
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e . \
    && python -m tools.convert_use --out /app/.memstream/models/use-multilingual-v3
ENV MEMSTREAM_MODEL_DIR=/app/.memstream/models
CMD ["memstream", "worker"]
