// A xiaozhi device is known by its Device-Id header: the firmware sends its Wi-Fi MAC
// ("aa:bb:cc:dd:ee:ff"). Hearth keys it as 12 lowercase hex digits, like a FoloToy SN, so the
// same id names it in roles.json overrides, [xiaozhi] device_roles, file names and the console.

const MAC = /^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;
/** Other clients written from the docs may send any id; a short plain one is kept as it is. */
const OTHER = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** "AA:BB:CC:DD:EE:FF" -> "aabbccddeeff"; another plain id unchanged; undefined when unusable. */
export function normalizeDeviceId(raw: string | null | undefined): string | undefined {
  const id = raw?.trim() ?? "";
  if (MAC.test(id)) return id.replace(/[:-]/g, "").toLowerCase();
  return OTHER.test(id) ? id : undefined;
}
