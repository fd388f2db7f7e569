"""The product catalog and the issue catalog: what breaks, and how it is fixed.

A case is drawn as (product, issue): the product fills the Product* picklists
and the environment, the issue fills subject, symptoms, error codes, parts,
cause and resolution. Keeping both as data makes the text coherent (a DIMM
case names a DIMM part number and a memory error code) without any grammar.

Every token here that the pipeline must keep (part numbers, error codes,
firmware versions, product names, KB ids) is a whole value of a tuple, so the
text builders can record it in the keep-token key exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Product", "Issue", "PRODUCTS", "ISSUES", "ISSUES_BY_FAMILY", "OS_BY_FAMILY"]


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    line: str
    series: str
    number: str
    hierarchy: str
    type: str
    family: str
    serial_prefixes: tuple[str, ...]
    #: (component label, versions): the firmware that appears in environment notes.
    firmware: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Issue:
    key: str
    families: frozenset[str]
    category: str
    issue_type: str
    component: str
    titles: tuple[str, ...]
    errors: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]
    where: tuple[str, ...]
    symptom: str  # {where} {err}
    cause: str  # {where}
    action: str
    fix: str  # {where} {pn}
    root_cause: str
    resolution_code: str
    kb: tuple[str, ...]


_ILO5 = ("iLO 5", ("2.78", "2.81", "2.96", "3.04"))
_ROM10 = ("System ROM", ("U30 v2.90", "U30 v2.76", "U32 v2.72", "A40 v2.68"))
_ROM11 = ("System ROM", ("U54 v2.16", "U54 v1.64", "A55 v1.52"))
_ILO6 = ("iLO 6", ("1.55", "1.59", "1.62"))
_SPP = ("SPP", ("2024.04.00.00", "2023.09.00.00", "2025.01.00.00"))
_NIC = ("NIC firmware", ("2.78.10", "20.35.2000", "1.3326.0"))
_SA = ("Smart Array", ("5.61", "6.22", "03.01.23.072"))
_NOS = ("NimbleOS", ("6.1.2.200", "5.2.1.900", "6.1.1.300"))
_AOS = ("AOS-CX", ("10.13.1000", "10.11.1040", "10.12.1021"))
_AOS8 = ("ArubaOS", ("8.10.0.12", "8.11.2.1", "8.6.0.23"))
_OV = ("OneView", ("8.90", "9.00", "8.70.01"))
_MSA = ("MSA firmware", ("IN110R003", "IN100P002"))

PRODUCTS: tuple[Product, ...] = (
    Product("HPE ProLiant DL380 Gen10", "ProLiant Servers", "ProLiant DL300 Series", "868703-B21",
            "Compute > Rack Servers > ProLiant DL > DL380 Gen10", "Server", "server",
            ("CZJ", "MXQ", "SGH"), (_ILO5, _ROM10, _SPP, _NIC, _SA)),
    Product("HPE ProLiant DL360 Gen10", "ProLiant Servers", "ProLiant DL300 Series", "867959-B21",
            "Compute > Rack Servers > ProLiant DL > DL360 Gen10", "Server", "server",
            ("CZJ", "MXQ", "2M2"), (_ILO5, _ROM10, _SPP, _NIC, _SA)),
    Product("HPE ProLiant DL380 Gen10 Plus", "ProLiant Servers", "ProLiant DL300 Series", "P05172-B21",
            "Compute > Rack Servers > ProLiant DL > DL380 Gen10 Plus", "Server", "server",
            ("CZJ", "MXQ"), (_ILO5, _ROM10, _SPP, _NIC, _SA)),
    Product("HPE ProLiant DL325 Gen10 Plus", "ProLiant Servers", "ProLiant DL300 Series", "P18606-B21",
            "Compute > Rack Servers > ProLiant DL > DL325 Gen10 Plus", "Server", "server",
            ("CZJ", "SGH"), (_ILO5, _ROM10, _SPP, _NIC)),
    Product("HPE ProLiant DL380 Gen11", "ProLiant Servers", "ProLiant DL300 Series", "P52534-B21",
            "Compute > Rack Servers > ProLiant DL > DL380 Gen11", "Server", "server",
            ("CZJ", "MXQ"), (_ILO6, _ROM11, _SPP, _NIC, _SA)),
    Product("HPE ProLiant ML350 Gen10", "ProLiant Servers", "ProLiant ML300 Series", "877621-421",
            "Compute > Tower Servers > ProLiant ML > ML350 Gen10", "Server", "server",
            ("CZJ", "SGH"), (_ILO5, _ROM10, _SPP, _SA)),
    Product("HPE ProLiant DL560 Gen10", "ProLiant Servers", "ProLiant DL500 Series", "840370-B21",
            "Compute > Rack Servers > ProLiant DL > DL560 Gen10", "Server", "server",
            ("CZJ", "MXQ"), (_ILO5, _ROM10, _SPP, _NIC, _SA)),
    Product("HPE Synergy 480 Gen10 Compute Module", "Synergy", "Synergy Compute", "871940-B21",
            "Compute > Composable > Synergy > SY480 Gen10", "Server", "synergy",
            ("CZJ", "MXQ"), (_ILO5, _ROM10, _OV, _NIC)),
    Product("HPE Synergy 12000 Frame", "Synergy", "Synergy Frames", "797740-B21",
            "Compute > Composable > Synergy > 12000 Frame", "Enclosure", "synergy",
            ("CZ2", "MXQ"), (_OV, ("Frame Link Module", ("2.40", "2.60")))),
    Product("HPE Apollo 4200 Gen10", "Apollo Systems", "Apollo 4000", "P07244-B21",
            "Compute > High Density > Apollo 4200 Gen10", "Server", "server",
            ("CZJ", "SGH"), (_ILO5, _ROM10, _SPP, _SA)),
    Product("HPE Nimble Storage HF40", "Nimble Storage", "Nimble Adaptive Flash", "Q8H72A",
            "Storage > Primary Storage > Nimble > HF40", "Storage Array", "nimble",
            ("AF-", "HF-"), (_NOS,)),
    Product("HPE Nimble Storage AF60", "Nimble Storage", "Nimble All Flash", "Q8B89A",
            "Storage > Primary Storage > Nimble > AF60", "Storage Array", "nimble",
            ("AF-",), (_NOS,)),
    Product("HPE Alletra 6030", "Alletra Storage", "Alletra 6000", "R3P96A",
            "Storage > Primary Storage > Alletra > 6030", "Storage Array", "nimble",
            ("AF-",), (_NOS,)),
    Product("HPE MSA 2060 SAN Storage", "MSA Storage", "MSA Gen6", "R0Q73A",
            "Storage > Entry Storage > MSA > 2060", "Storage Array", "array",
            ("2S6", "ACN"), (_MSA,)),
    Product("HPE 3PAR StoreServ 8400", "3PAR StoreServ", "StoreServ 8000", "H6Z04A",
            "Storage > Primary Storage > 3PAR > 8400", "Storage Array", "array",
            ("CZ3", "4UW"), (("HPE 3PAR OS", ("3.3.1 MU5", "3.3.2 EMU1")),)),
    Product("HPE SimpliVity 380 Gen10", "SimpliVity", "SimpliVity 380", "Q8D81A",
            "Compute > Hyperconverged > SimpliVity 380 Gen10", "HCI Node", "server",
            ("CZJ", "MXQ"), (_ILO5, _ROM10, ("OmniStack", ("4.1.3", "4.2.0")))),
    Product("Aruba CX 6300M 48-port Switch", "Aruba Switching", "CX 6300", "JL661A",
            "Networking > Switches > Aruba CX > 6300M", "Switch", "switch",
            ("SG0", "TW1", "CN0"), (_AOS,)),
    Product("Aruba CX 8325-48Y8C Switch", "Aruba Switching", "CX 8325", "JL624A",
            "Networking > Switches > Aruba CX > 8325", "Switch", "switch",
            ("SG9", "TW0"), (_AOS,)),
    Product("Aruba AP-515 Access Point", "Aruba Wireless", "500 Series APs", "Q9H62A",
            "Networking > Wireless > Aruba APs > AP-515", "Access Point", "wireless",
            ("CNJ", "CNK"), (_AOS8,)),
    Product("HPE FlexFabric 5945 Switch", "FlexFabric", "FlexFabric 5945", "JQ074A",
            "Networking > Switches > FlexFabric > 5945", "Switch", "switch",
            ("CN9", "CN8"), (("Comware", ("7.1.070 R6710", "7.1.070 R6635")),)),
)

_SRV = frozenset({"server", "synergy"})
_STO = frozenset({"nimble", "array"})
_NET = frozenset({"switch", "wireless"})

ISSUES: tuple[Issue, ...] = (
    Issue("memory", _SRV, "Hardware", "Hardware Failure", "DIMM",
          ("Memory Health Degraded", "Uncorrectable Memory Error", "Correctable memory error threshold exceeded"),
          ("iLO_400_MemoryErrors", "218004", "IML Event Class 0x13 Code 0x2B", "POST Error 207"),
          (("815098-B21", "HPE 16GB 1Rx4 PC4-2666V-R Smart Memory Kit"),
           ("P00924-B21", "HPE 32GB 2Rx4 PC4-2933Y-R Smart Memory Kit"),
           ("835955-B21", "HPE 16GB 2Rx8 PC4-2666V-R Smart Memory Kit")),
          ("Processor 1 DIMM 6", "Processor 2 DIMM 9", "Proc 1 DIMM 3", "Processor 2 DIMM 12"),
          "iLO reports {err} on {where}; memory health shows Degraded after repeated correctable errors",
          "Failed DIMM in {where}", "Replace DIMM",
          "Replaced the faulty DIMM in {where} with {pn} and cleared the IML",
          "Hardware failure of the memory module (DIMM).", "Part Replaced",
          ("KB0012345", "a00112233en_us", "a00047741en_us")),
    Issue("psu", _SRV | _STO, "Hardware", "Hardware Failure", "power supply",
          ("Power Supply Failure", "Redundant power lost", "PSU 2 failed"),
          ("iLO_400_PowerSupplyFailure", "IML Event Class 0x20 Code 0x03", "POST Error 1707"),
          (("865408-B21", "HPE 500W Flex Slot Platinum Hot Plug Low Halogen Power Supply Kit"),
           ("830272-B21", "HPE 1600W Flex Slot Platinum Hot Plug Low Halogen Power Supply Kit"),
           ("P38995-B21", "HPE 800W Flex Slot Titanium Hot Plug Power Supply Kit")),
          ("Power Supply Bay 2", "PSU bay 1", "Power Supply 2"),
          "{where} shows Failed with {err}; system is running without power redundancy",
          "Failed power supply in {where}", "Replace PSU",
          "Replaced the power supply in {where} with {pn}; redundancy restored",
          "Power supply unit failure (internal fault).", "Part Replaced",
          ("KB0023456", "a00093344en_us")),
    Issue("fan", _SRV, "Hardware", "Health Alert", "fan",
          ("Fan Failure", "Fan redundancy lost", "High fan speed and thermal warnings"),
          ("iLO_400_FanFailure", "IML Event Class 0x03 Code 0x07", "POST Error 1611"),
          (("867810-B21", "HPE DL38X Gen10 High Performance Temperature Fan Kit"),
           ("875075-001", "HPE DL380 Gen10 hot-plug fan module")),
          ("Fan 4", "Fan 2", "System Fan 6"),
          "{where} reports Failed ({err}); server is running at 100% fan speed",
          "Failed fan module in {where}", "Replace fan",
          "Replaced {where} with {pn}; fan redundancy restored and thermal readings normal",
          "Fan motor failure.", "Part Replaced",
          ("KB0034567", "a00012875en_us")),
    Issue("array", _SRV, "Hardware", "Hardware Failure", "RAID controller",
          ("Smart Array controller not detected", "Logical drive degraded", "RAID 5 array failed after power event"),
          ("POST Error 1719", "Event ID 1785", "0x80070005", "Controller Status: Failed"),
          (("804331-B21", "HPE Smart Array P408i-a SR Gen10 12G SAS Modular Controller"),
           ("830824-B21", "HPE Smart Array P408i-p SR Gen10 Controller"),
           ("P01366-B21", "HPE 96W Smart Storage Lithium-ion Battery")),
          ("embedded slot", "PCIe slot 3", "Slot 0 (Embedded)"),
          "Smart Array controller in {where} reports {err}; logical drive 1 is degraded",
          "Controller cache module failure in {where}", "Replace controller",
          "Replaced the Smart Array controller in {where} ({pn}) and rebuilt logical drive 1",
          "Smart Array controller hardware failure.", "Part Replaced",
          ("KB0045678", "a00019807en_us")),
    Issue("disk", _SRV | _STO, "Hardware", "Hardware Failure", "disk drive",
          ("Predictive Drive Failure", "Drive failed in bay 4", "SSD wear-out warning"),
          ("iLO_400_DriveFailure", "Event ID 1785", "SMART trip 0x5D", "IML Event Class 0x0C Code 0x0B"),
          (("872479-B21", "HPE 1.2TB SAS 12G 10K SFF SC Enterprise HDD"),
           ("P18434-B21", "HPE 960GB SATA 6G Mixed Use SFF SC SSD"),
           ("R0Q55A", "HPE MSA 1.92TB SAS 12G Read Intensive SFF SSD")),
          ("Port 1I Box 1 Bay 4", "Box 2 Bay 7", "shelf 1 slot 11"),
          "Drive in {where} shows predictive failure ({err}); array is rebuilding",
          "Drive media errors in {where}", "Replace drive",
          "Replaced the drive in {where} with {pn}; rebuild completed successfully",
          "Disk drive media degradation.", "Part Replaced",
          ("KB0056789", "a00056412en_us")),
    Issue("ilo", _SRV, "Firmware", "Firmware Defect", "iLO",
          ("iLO not reachable", "iLO web interface hangs", "iLO self-test failure"),
          ("iLO self-test 0x00000800", "NAND error 0x2E", "HTTP 503 from iLO"),
          (("P06727-001", "HPE Gen10 system board with iLO 5"),),
          ("dedicated iLO port", "shared network port"),
          "iLO is unreachable via the {where} and reports {err} in the event log",
          "Known iLO firmware defect causing NAND corruption", "Update iLO firmware",
          "Updated iLO firmware, formatted the NAND via the {where} and reset iLO",
          "Firmware defect in iLO (NAND corruption).", "Firmware Updated",
          ("KB0067890", "a00048622en_us")),
    Issue("psod", _SRV, "Software", "Boot Failure", "system board",
          ("PSOD after firmware update", "Server reboots unexpectedly", "BSOD 0x0000009C on boot"),
          ("PSOD #PF Exception 14", "0x0000009C", "NMI_0x1F", "IML Event Class 0x02 Code 0x21"),
          (("P06727-001", "HPE Gen10 system board"), ("P24479-001", "HPE Gen10 Plus system board")),
          ("processor 1", "the system board", "PCIe riser 2"),
          "Host crashes with {err}; AHS points at {where}",
          "Machine check errors traced to {where}", "Replace system board",
          "Replaced {where} ({pn}), re-applied the serial number and product id, updated System ROM",
          "System board fault causing machine check exceptions.", "Part Replaced",
          ("KB0078901", "a00087654en_us")),
    Issue("nic", _SRV, "Connectivity", "Connectivity Loss", "network adapter",
          ("NIC link flapping", "Network adapter not detected", "10GbE port down after update"),
          ("Event ID 27", "Link down 0x80070005", "NIC_FW_HANG 0x5"),
          (("817718-B21", "HPE Ethernet 10/25Gb 2-port 631FLR-SFP28 Adapter"),
           ("P08443-B21", "HPE Ethernet 10/25Gb 2-port SFP28 BCM57414 OCP3 Adapter")),
          ("FlexLOM port 1", "OCP slot port 2", "PCIe slot 2 port 1"),
          "The adapter on {where} keeps dropping link ({err})",
          "Adapter firmware hang on {where}", "Update NIC firmware",
          "Updated NIC firmware and driver; link on {where} stable for 72 hours",
          "Network adapter firmware defect.", "Firmware Updated",
          ("KB0089012", "a00101234en_us")),
    Issue("oneview", frozenset({"synergy"}), "Configuration", "Configuration Issue", "frame link module",
          ("Compute module not powering on", "Server profile apply failed", "Frame link module unreachable"),
          ("OneView alert 0x1F32", "Profile error CRM_APPLY_FAILED", "FLM_COMM_ERROR"),
          (("802341-B21", "HPE Synergy 12000 Frame Link Module"),
           ("794502-B23", "HPE Virtual Connect SE 40Gb F8 Module")),
          ("frame bay 5", "interconnect bay 3", "FLM bay 1"),
          "OneView shows {err} for the module in {where}",
          "Frame link module lost management connectivity in {where}", "Reseat FLM",
          "Reseated the module in {where}, replaced with {pn} and reapplied the server profile",
          "Frame link module communication failure.", "Part Replaced",
          ("KB0090123", "a00098765en_us")),
    Issue("ctrl_failover", _STO, "Hardware", "Hardware Failure", "storage controller",
          ("Controller failover occurred", "Controller B not responding", "Unexpected controller takeover"),
          ("ERR_CTRL_FAILOVER 0xE1", "Alert 12033", "Event 2016 controller restart"),
          (("Q8H51A", "HPE Nimble Storage HF/AF controller"),
           ("R0Q78A", "HPE MSA 2060 SAS controller")),
          ("controller B", "controller A", "the standby controller"),
          "Array reports {err}; {where} is offline and volumes are on a single controller",
          "Hardware fault on {where}", "Replace controller",
          "Replaced {where} with {pn}; controller pair back in active/standby",
          "Storage controller hardware failure.", "Part Replaced",
          ("KB0101234", "a00115566en_us")),
    Issue("latency", _STO, "Performance", "Performance Degradation", "volume",
          ("High latency on volumes", "Replication lag growing", "Performance degradation after upgrade"),
          ("Alert 4021 high latency", "Replication partner unreachable 0x3E8", "Event 5002"),
          (), ("volume collection prod-vc01", "volume sql-data01", "pool default"),
          "Latency above 20 ms on {where} ({err})",
          "Cache-unfriendly workload on {where}", "Adjust performance policy",
          "Changed the performance policy on {where} and upgraded NimbleOS; latency back under 2 ms",
          "Configuration: performance policy mismatch.", "Configuration Change",
          ("KB0112345", "a00123321en_us")),
    Issue("port_flap", _NET, "Connectivity", "Connectivity Loss", "transceiver",
          ("Port flapping on uplink", "Transceiver not supported", "VSX ISL down"),
          ("LLDP-6-NEIGHBOR_DOWN", "Event 1607 link flap", "XCVR_UNSUPPORTED 0x1B"),
          (("JL484A", "Aruba 25G SFP28 LC SR 100m MMF Transceiver"),
           ("J9150D", "Aruba 10G SFP+ LC SR 300m MMF Transceiver")),
          ("port 1/1/49", "interface 1/1/52", "lag 10 member 1/1/50"),
          "{where} flaps every few minutes ({err})",
          "Faulty transceiver in {where}", "Replace transceiver",
          "Replaced the transceiver in {where} with {pn}; no flaps since",
          "Transceiver hardware failure.", "Part Replaced",
          ("KB0123456", "a00134455en_us")),
    Issue("ap_join", frozenset({"wireless"}), "Configuration", "Configuration Issue", "access point",
          ("AP not joining controller", "AP stuck in boot loop", "Clients drop on 5 GHz"),
          ("AP reboot reason 0x2A", "CERT_EXPIRED 0x12", "Radio reset 0x5F"),
          (("Q9H62A", "Aruba AP-515 (RW) Unified AP"),),
          ("AP group floor-3", "AP group warehouse", "the lobby AP"),
          "{where} reports {err} and cannot join the mobility conductor",
          "Expired factory certificate on {where}", "Upgrade ArubaOS",
          "Upgraded ArubaOS and re-provisioned {where}; APs joined successfully",
          "Firmware defect with certificate validation.", "Firmware Updated",
          ("KB0134567", "a00140011en_us")),
    Issue("fw_update", _SRV | _STO | _NET, "Firmware", "Firmware Defect", "firmware",
          ("Firmware update failed", "SPP deployment fails", "Update stuck at 50%"),
          ("0x80070005", "SUM error 0x3E", "iLO_400_FlashFailed", "Error 218010"),
          (), ("the Smart Update Manager run", "iLO Repository install set", "the online update"),
          "{where} fails with {err}",
          "Insufficient permissions for {where}", "Re-run update",
          "Re-ran {where} with local administrator rights; all components now compliant",
          "Update tooling permission issue.", "Workaround Provided",
          ("KB0145678", "a00150002en_us")),
)

ISSUES_BY_FAMILY: dict[str, tuple[Issue, ...]] = {
    fam: tuple(i for i in ISSUES if fam in i.families)
    for fam in {p.family for p in PRODUCTS}
}

OS_BY_FAMILY: dict[str, tuple[str, ...]] = {
    "server": ("VMware ESXi 7.0 U3", "VMware ESXi 8.0 U2", "Windows Server 2019",
               "Windows Server 2022", "RHEL 8.8", "SLES 15 SP5", "Ubuntu 22.04 LTS"),
    "synergy": ("VMware ESXi 7.0 U3", "Windows Server 2022", "RHEL 9.2"),
    "nimble": ("VMware vSphere 7 hosts (iSCSI)", "Windows Server 2019 hosts (FC)", "Hyper-V cluster (iSCSI)"),
    "array": ("VMware vSphere 8 hosts (FC)", "Windows Server 2022 hosts (SAS)", "Linux hosts (iSCSI)"),
    "switch": ("Core/aggregation layer, VSX pair", "Top-of-rack, data center leaf", "Campus access layer"),
    "wireless": ("Mobility conductor cluster, 120 APs", "Instant AP cluster, 24 APs"),
}
