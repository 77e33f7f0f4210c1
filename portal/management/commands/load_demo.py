from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from portal.demo import DEMO_USERS


class Command(BaseCommand):
    help = "载入演示数据: 机构、每个角色一个用户及各模块的演示数据 (幂等, 重复执行不改变已有数据)"

    def handle(self, *args, **options):
        for dotted in settings.PORTAL_DEMO_LOADERS:
            result = import_string(dotted)()
            self.stdout.write(f"{dotted}: {result}")
        self.stdout.write("")
        self.stdout.write("演示账号 (密码均为 %s):" % settings.PORTAL_DEMO_PASSWORD)
        for demo in DEMO_USERS:
            self.stdout.write(f"  {demo.username:<12} {demo.role:<26} {demo.full_name}")
