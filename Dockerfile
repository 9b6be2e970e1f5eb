# One kbtool API replica. No index is baked in: each replica serves the published build in the
# shared volume at /srv/kbtool/index (`kbtool index --publish`), read-only, and hot-swaps to every
# newer one. Events go to PostgreSQL (KBTOOL_DB). See docs/deploy.md.
FROM python:3.11-slim
RUN useradd --system --uid 10001 kbtool
WORKDIR /app
COPY pyproject.toml README.md LICENSE* /app/
COPY kbtool /app/kbtool
COPY kb /app/kb
RUN pip install --no-cache-dir '/app[api,postgres]'
USER kbtool
ENV KBTOOL_DB=""
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["kbtool", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--index-dir", "/srv/kbtool/index", "--read-only"]
