"""The vendor's Python example flow ("Using the Viewer Session API" technical note, section 3),
made non-interactive for benchmarking.

The flow, calls and options are the note's: `requests` module-level calls (a new connection per
request), `verify=False` with urllib3's warnings disabled, a 60 s timeout on the login, login ->
device list filtered by ADX-IP-IQ -> ticket -> launch URL with sharingMode=STANDALONE_PASSIVE and
mouseMode=0, and the note's progress prints. Differences, all outside the measured work:
  * host, user and password come from argv/environment instead of input()/getpass();
  * the URL is printed instead of opened with webbrowser.open();
  * the target is the device named on the command line (default rack-a-01) rather than the
    list's first entry, so it launches the same device as the benchmarked launcher (in the demo
    inventory the first ADX-IP-IQ device is rack-a-01 anyway);
  * `connection_path_info[0]` is read only when the list is non-empty (the note's script raises
    IndexError for a device without connection paths);
  * the OCR slips of the note are corrected (`device_type_programmatic_name`, `/api/v1/`);
  * failures exit non-zero instead of calling exit() with status 0.

Usage: python vendor_example.py HOST[:PORT] USER [DEVICE]   (password in DSVIEW_PASSWORD)
"""

import getpass  # noqa: F401  (imported by the note's script; kept for a like-for-like start-up)
import os
import sys
import webbrowser  # noqa: F401  (idem: the note opens the URL with it)

import requests
import urllib3

urllib3.disable_warnings()

TIMEOUT_SEC = 60.0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    Host = "https://" + argv[1]
    userName = argv[2]
    targetName = argv[3] if len(argv) > 3 else "rack-a-01"
    password = os.environ.get("DSVIEW_PASSWORD")
    if password is None:
        print("DSVIEW_PASSWORD is not set", file=sys.stderr)
        return 2
    print("Login to the DSView solution appliance with IP Address: ", Host)

    # STEP 1 - Login to the DSView solution appliance.
    loginURL = "/api/v1/userSessions"
    try:
        response = requests.post(
            Host + loginURL,
            json={"username": userName, "password": password},
            timeout=TIMEOUT_SEC,
            verify=False,
        )
    except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError):
        print(f'Unable to login to DSView solution appliance using IP address: "{Host}"')
        return 1
    if response.status_code == 201:
        print("Login to the DSView solution appliance was successful.")
        json_response = response.json()
        if "jwt" not in json_response:
            print("Authentication response did not contain jwt.")
        jwt = json_response["jwt"]
        sessionId = json_response["user_session"]["id"]
        print("SessionId", sessionId)
    else:
        print("Unable to login to the DSView solution appliance. HTTP Response code is ",
              response.status_code)
        return 1

    # STEP 2 - Identify the target device.
    print("Identify the target device in the DSView solution appliance to launch a Viewer session")
    devicesURL = "/api/v1/devices"
    deviceTypeProgrammaticName = "ADX-IP-IQ"
    filterIPIQDevices = "?filter=device_type_programmatic_name " + deviceTypeProgrammaticName
    headers = {"Authorization": "Bearer " + jwt}
    try:
        response = requests.get(Host + devicesURL + filterIPIQDevices, headers=headers,
                                verify=False)
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
        print("Unable to get list of devices from DSView solution appliance")
        return 1
    deviceId = ""
    connectionPathType = ""
    if response.status_code == 200:
        print("Getting the list of devices from the DSView solution appliance was successful")
        json_response = response.json()
        deviceList = json_response["devices"]
        print("The list of devices in the DSView solution appliance: ", json_response["devices"])
        print("device list length=", len(deviceList))
        if len(deviceList) == 0:
            print("There are no devices that match the device type programmatic name: ",
                  deviceTypeProgrammaticName)
            return 1
        matches = [d for d in deviceList if d["device_name"] == targetName]
        if not matches:
            print("No device named", targetName)
            return 1
        deviceInfo = matches[0]
        print("The information for the target device in the device list: ", deviceInfo)
        deviceName = deviceInfo["device_name"]
        print("The device name for the target device: ", deviceName)
        deviceId = deviceInfo["id"]
        print("The device ID for the target device: ", deviceId)
        paths = deviceInfo.get("connection_path_info") or []
        if paths:
            connectionPathType = paths[0]["path_type"]
        print("The connection path type for the target device: ", connectionPathType)
    else:
        print("Unable to get devices from DSView solution appliance. HTTP Response code is ",
              response.status_code)
        return 1

    connectionPathType = "DCP_KVM_IP"
    print("Get the viewer type based on device type programmatic name: ",
          deviceTypeProgrammaticName)
    viewerType = "Unsupported"
    if deviceTypeProgrammaticName == "ADX-IP-IQ":
        viewerType = "KVM"
    elif deviceTypeProgrammaticName == "ADX-IP-UHD" and connectionPathType == "DCP_KVM_IP":
        viewerType = "KVM"
    elif deviceTypeProgrammaticName == "ADX-IP-UHD" and connectionPathType == "DCP_SERIAL_IP":
        viewerType = "SERIAL"
    elif deviceTypeProgrammaticName in ("SERIAL-TARGET", "ACS", "ADX-IP-SERIAL-PORT"):
        viewerType = "SERIAL"
    elif deviceTypeProgrammaticName == "VS-VIRTUAL-MACHINE":
        viewerType = "VM"
    else:
        print("Unsupported device type programmatic name", deviceTypeProgrammaticName)
    print("Viewer Type=", viewerType)

    # STEP 3 - Create a viewer session ticket.
    print("Create a viewer session ticket to launch a Viewer session to a target device")
    ticketURL = "/api/v1/userSessions/"
    print("REST API Info to get ticket ID: ", Host + ticketURL + sessionId + ":createTicket")
    try:
        response = requests.post(Host + ticketURL + sessionId + ":createTicket", headers=headers,
                                 verify=False)
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
        print("Unable to get ticket information for launching Viewer sessions.")
        return 1
    ticketId = ""
    if response.status_code == 200:
        print("Getting the ticket ID for launching a viewer session was successful.")
        ticketResponse = response.json()
        ticketId = ticketResponse["ticket"]
    else:
        print("Unable to get ticket ID. HTTP Response code is ", response.status_code)
        return 1
    print("ticket ID=", ticketId)

    # STEP 4 - Build the URL to launch the viewer session.
    print("Create URL to launch a viewer session to a target device")
    viewerURL = (Host + "/api/v1/launchUI/?launchType=viewer&viewerType=" + viewerType
                 + "&deviceId=" + deviceId + "&ticket=" + ticketId)
    viewerURL += "&sharingMode=STANDALONE_PASSIVE"
    viewerURL += "&mouseMode=0"

    # STEP 5 - Print the URL (the note opens it with webbrowser.open(viewerURL, new=1)).
    print("Viewer Session URL=", viewerURL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
