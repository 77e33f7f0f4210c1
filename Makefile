.PHONY: run test bench clean help

help:
	@echo "make run    - 在内嵌默认配置 (SQLite) 上安装并启动平台, 载入演示数据: http://127.0.0.1:8000"
	@echo "make test   - 安装并在真实环境 (PostgreSQL, Redis, Celery worker, Chromium) 上运行全部测试"
	@echo "make bench  - 运行全部性能基准 (bench-*)"

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh $(ARGS)

BENCHES := $(patsubst bench/bench_%.py,bench-%,$(wildcard bench/bench_*.py))

bench: $(BENCHES)

bench-%:
	bash scripts/bench.sh $* $(if $(ENTITIES),--entities $(ENTITIES)) $(if $(and $(USERS),$(filter load,$*)),--users $(USERS)) $(ARGS)

clean:
	rm -rf .venv node_modules staticfiles test-artifacts var/celery
