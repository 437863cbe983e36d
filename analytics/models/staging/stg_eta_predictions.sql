select
  cast(tenant_id as varchar) as tenant_id,
  cast(id as bigint) as prediction_id,
  cast(shipment_id as varchar) as shipment_id,
  stop_sequence,
  cast(shipment_id as varchar) || ':' || cast(stop_sequence as varchar) as stop_id,
  source,
  model,
  predicted_at,
  predicted_arrival,
  actual_arrival,
  lead_min,
  error_min
from {{ export_relation('eta_predictions') }}
