-- One row per stop of every exported shipment; arrival, departure, dwell and on-time once visited.
select
  cast(tenant_id as varchar) as tenant_id,
  cast(shipment_id as varchar) as shipment_id,
  stop_sequence,
  cast(shipment_id as varchar) || ':' || cast(stop_sequence as varchar) as stop_id,
  reference,
  shipment_status,
  shipment_created_at,
  cast(carrier_id as varchar) as carrier_id,
  coalesce(carrier_name, 'no carrier') as carrier_name,
  stop_type,
  stop_count,
  facility,
  window_start,
  window_end,
  planned_dwell_min,
  stop_status,
  arrived_at,
  departed_at,
  dwell_min,
  on_time,
  lateness_min
from {{ export_relation('stop_visits') }}
