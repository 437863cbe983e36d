select
  cast(tenant_id as varchar) as tenant_id,
  cast(id as bigint) as position_id,
  cast(shipment_id as varchar) as shipment_id,
  device_id,
  recorded_at,
  received_at,
  lat,
  lon,
  speed_kmh
from {{ export_relation('positions') }}
