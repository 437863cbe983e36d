select
  cast(tenant_id as varchar) as tenant_id,
  cast(id as bigint) as event_id,
  cast(shipment_id as varchar) as shipment_id,
  event_key,
  type as event_type,
  occurred_at,
  stop_sequence
from {{ export_relation('shipment_events') }}
