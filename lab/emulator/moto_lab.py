"""
The lab's AWS: moto's WSGI app (what `moto_server` runs) served one request at a time, with two gaps closed and,
when the lab's hypervisor is listening, EC2's effects on real machines.

- One request at a time: moto's backends are not thread-safe (its documentation says so); under Terraform's
  parallel requests a request could fail with a 500 after its change was made, and the provider's retry was then
  refused ("InvalidPermission.Duplicate"). Both listeners share one lock.
- A terminated instance's private IPs are freed at termination, as EC2 does (moto frees them only when Python
  garbage-collects the instance, so re-creating an instance at its fixed address failed with "IP already in use").
- With POOL_LAB_HOOKS (a Unix socket of lab/machines/hypervisor.ts): RunInstances boots a machine from the AMI with
  the instance's user data; Stop/Start/Reboot/TerminateInstances stop, start, reboot and remove it (Stop returns once
  the machine is down, so "stopped" is true when the API says it); AttachVolume/DetachVolume plug a block device
  named by the volume id as EC2's NVMe does; ModifyVolume grows the device while it is plugged in (and refuses a
  smaller size, as EBS does); CreateImage snapshots the instance's root filesystem; GetConsoleOutput
  returns the machine's console (cloud-init prints its host keys there, as on EC2).

Usage: python3 moto_lab.py HOST PORT [UNIX_SOCKET]
"""
import base64
import json
import os
import signal
import socket
import sys
import threading
import traceback

from werkzeug.serving import make_server

from moto.core.responses import ActionResult
from moto.core.types import Base64EncodedString
from moto.core.utils import utcnow
from moto.ec2.models.amis import AmiBackend
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance, InstanceBackend
from moto.ec2.responses.general import General
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

HOOKS = os.environ.get("POOL_LAB_HOOKS")


class HookError(Exception):
    pass


def hook(event, **fields):
    """Tells the hypervisor what EC2 just did and waits for it to be done (or refused)."""
    if not HOOKS:
        return {}
    try:
        return _hook(event, **fields)
    except Exception:
        # moto turns an exception into a bare 500: say what went wrong where the lab's log shows it.
        traceback.print_exc(file=sys.stderr)
        raise


def _hook(event, **fields):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(600)
        s.connect(HOOKS)
        s.sendall((json.dumps({"event": event, **fields}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data.decode() or "{}")
    if reply.get("error"):
        raise HookError(f"lab hypervisor refused {event}: {reply['error']}")
    return reply


_terminate = Instance.terminate


def terminate_and_free_ips(self):
    hook("terminate", instanceId=self.id)
    state = _terminate(self)
    subnet = self.ec2_backend.get_subnet(self.subnet_id) if self.subnet_id else None
    for ip in list(getattr(self, "_private_ips", []) or []):
        if subnet is not None:
            subnet.del_subnet_ip(ip)
    return state


Instance.terminate = terminate_and_free_ips

_run_instances = InstanceBackend.run_instances


# EC2 refuses user data over 16 KiB in raw form, before base64 (EC2 User Guide, "Run commands when you launch an
# EC2 instance with user data input"); moto does not.
USER_DATA_LIMIT = 16384


class UserDataTooLarge(EC2ClientError):
    def __init__(self, size):
        super().__init__("InvalidParameterValue", f"User data is limited to {USER_DATA_LIMIT} bytes (got {size})")


def run_instances(self, *args, **kwargs):
    user_data = kwargs.get("user_data") if "user_data" in kwargs else (args[2] if len(args) > 2 else None)
    if isinstance(user_data, Base64EncodedString):
        size = len(base64.b64decode(str(user_data)))
        if size > USER_DATA_LIMIT:
            raise UserDataTooLarge(size)
    reservation = _run_instances(self, *args, **kwargs)
    for instance in reservation.instances:
        user_data = instance.user_data
        if isinstance(user_data, list):
            user_data = user_data[0] if user_data else None
        hook(
            "launch",
            instanceId=instance.id,
            imageId=instance.image_id,
            instanceType=instance.instance_type,
            privateIp=instance.private_ip,
            subnetId=instance.subnet_id,
            availabilityZone=instance.placement.zone if hasattr(instance.placement, "zone") else str(instance.placement),
            userDataBase64=str(user_data) if isinstance(user_data, Base64EncodedString) else (user_data or ""),
            tags={t["key"]: t["value"] for t in self.describe_tags(filters={"resource-id": [instance.id]})},
        )
    return reservation


InstanceBackend.run_instances = run_instances


def with_hook(method, event):
    original = getattr(Instance, method)

    def patched(self, *args, **kwargs):
        if event == "stop" and self._state.name in ("stopped", "terminated"):
            return original(self, *args, **kwargs)
        if event == "start" and self._state.name == "running":
            return original(self, *args, **kwargs)
        hook(event, instanceId=self.id)
        return original(self, *args, **kwargs)

    setattr(Instance, method, patched)


with_hook("stop", "stop")
with_hook("start", "start")
with_hook("reboot", "reboot")

_attach = EBSBackend.attach_volume


def attach_volume(self, volume_id, instance_id, device_path, delete_on_termination=False):
    attachment = _attach(self, volume_id, instance_id, device_path, delete_on_termination)
    instance = self.get_instance(instance_id)
    # The root volume RunInstances makes is the machine's own disk (its overlay), not a device to plug.
    if attachment is not None and device_path != getattr(instance, "root_device_name", "/dev/sda1"):
        volume = self.get_volume(volume_id)
        hook("attach", volumeId=volume_id, instanceId=instance_id, device=device_path, sizeGiB=volume.size)
    return attachment


EBSBackend.attach_volume = attach_volume

_detach = EBSBackend.detach_volume


def detach_volume(self, volume_id, instance_id, device_path):
    hook("detach", volumeId=volume_id, instanceId=instance_id)
    return _detach(self, volume_id, instance_id, device_path)


EBSBackend.detach_volume = detach_volume

_delete_volume = EBSBackend.delete_volume


def delete_volume(self, volume_id):
    volume = _delete_volume(self, volume_id)
    hook("delete-volume", volumeId=volume_id)
    return volume


EBSBackend.delete_volume = delete_volume

_modify_volume = EBSBackend.modify_volume


class VolumeCannotShrink(EC2ClientError):
    def __init__(self, size, target):
        super().__init__("InvalidParameterValue", f"New size cannot be smaller than existing size: the volume is {size} GiB, {target} GiB was asked for")


def modify_volume(self, volume_id, target_size=None, *args, **kwargs):
    # EBS grows a volume in place and never shrinks one (ModifyVolume refuses); moto would take any size.
    volume = self.get_volume(volume_id)
    if target_size is not None and int(target_size) < volume.size:
        raise VolumeCannotShrink(volume.size, target_size)
    grows = target_size is not None and int(target_size) > volume.size
    volume = _modify_volume(self, volume_id, target_size, *args, **kwargs)
    if grows:
        hook("grow-volume", volumeId=volume_id, sizeGiB=int(target_size))
    return volume


EBSBackend.modify_volume = modify_volume

_create_image = AmiBackend.create_image


def create_image(self, instance_id, name, description, tag_specifications):
    ami = _create_image(self, instance_id, name, description, tag_specifications)
    hook("image", amiId=ami.id, instanceId=instance_id)
    return ami


AmiBackend.create_image = create_image

_console = General.get_console_output


def get_console_output(self):
    if not HOOKS:
        return _console(self)
    instance_id = self._get_param("InstanceId")
    instance = self.ec2_backend.get_instance(instance_id)
    reply = hook("console", instanceId=instance.id)
    return ActionResult({
        "InstanceId": instance.id,
        "Timestamp": utcnow(),
        "Output": Base64EncodedString.from_raw_string(reply.get("output", "")),
    })


General.get_console_output = get_console_output

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialised(environ, start_response):
    with lock:
        return app(environ, start_response)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    servers = [make_server(host, port, serialised, threaded=False)]
    if len(sys.argv) > 3:
        servers.append(make_server(f"unix://{sys.argv[3]}", 0, serialised, threaded=False))

    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


main()
