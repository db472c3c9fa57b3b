//! Device authorizations: lookup by either code, a decision made once, an exchange made once.

use crate::contract::fixtures::device;
use crate::contract::harness::{assert_conflict, Harness};
use burstflare_core::ids::DeviceId;
use burstflare_core::model::DeviceAuthorization;
use burstflare_core::secret::SecretHash;
use burstflare_core::store::Write;
use burstflare_core::values::DeviceStatus;

pub async fn device_decisions_and_exchanges_are_guarded(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (device_code, user_code, record) = device(h.now(), 600);
    h.commit([Write::CreateDevice(record.clone())]).await?;
    assert_eq!(h.ports.devices.find_by_device_code(&device_code.hash()).await?, Some(record.clone()));
    assert_eq!(h.ports.devices.find_by_user_code(&user_code).await?, Some(record.clone()));
    assert_eq!(h.ports.devices.find_by_device_code(&user_code).await?, None, "the two codes do not mix");
    assert_eq!(h.ports.devices.find_by_user_code(&SecretHash::of("nope")).await?, None);

    h.clock.advance_seconds(20);
    let at = h.now();
    let approved = DeviceAuthorization {
        status: DeviceStatus::Approved,
        user_id: Some(ada.user.id.clone()),
        workspace_id: Some(ada.workspace.id.clone()),
        decided_at: Some(at),
        version: 2,
        ..record.clone()
    };
    let denied =
        DeviceAuthorization { status: DeviceStatus::Denied, decided_at: Some(at), version: 2, ..record.clone() };
    let decide = |device: &DeviceAuthorization, expected_version| Write::UpdateDevice {
        device: device.clone(),
        expected_version,
    };
    h.commit([decide(&approved, 1)]).await?;
    assert_eq!(h.ports.devices.find_by_user_code(&user_code).await?, Some(approved.clone()));
    assert_conflict(h.commit([decide(&denied, 1)]).await);
    assert_eq!(h.ports.devices.find_by_device_code(&device_code.hash()).await?, Some(approved.clone()));

    let exchanged = DeviceAuthorization { status: DeviceStatus::Exchanged, version: 3, ..approved };
    let exchange = |expected_version| decide(&exchanged, expected_version);
    h.commit([exchange(2)]).await?;
    assert_eq!(h.ports.devices.find_by_device_code(&device_code.hash()).await?, Some(exchanged.clone()));
    assert_conflict(h.commit([exchange(2)]).await);
    assert_conflict(h.commit([exchange(1)]).await);
    let missing = DeviceAuthorization { id: DeviceId::from_raw("dev_missing"), ..exchanged.clone() };
    assert_conflict(h.commit([decide(&missing, 1)]).await);
    assert_eq!(h.ports.devices.find_by_device_code(&device_code.hash()).await?, Some(exchanged));
    Ok(())
}

pub async fn denied_devices_record_the_decision(h: &Harness) -> anyhow::Result<()> {
    let ada = h.account("ada@example.com").await?;
    let (device_code, _, record) = device(h.now(), 600);
    h.commit([Write::CreateDevice(record.clone())]).await?;
    let at = h.now();
    let _ = &ada;
    let denied = DeviceAuthorization { status: DeviceStatus::Denied, decided_at: Some(at), version: 2, ..record };
    h.commit([Write::UpdateDevice { device: denied.clone(), expected_version: 1 }]).await?;
    let stored = h.ports.devices.find_by_device_code(&device_code.hash()).await?;
    let stored = stored.ok_or_else(|| anyhow::anyhow!("device authorization is stored"))?;
    assert_eq!(stored, denied);
    Ok(())
}

pub async fn device_codes_are_unique(h: &Harness) -> anyhow::Result<()> {
    let (_, _, first) = device(h.now(), 600);
    h.commit([Write::CreateDevice(first.clone())]).await?;
    let (_, _, mut same_device_code) = device(h.now(), 600);
    same_device_code.device_code_hash = first.device_code_hash.clone();
    assert_conflict(h.commit([Write::CreateDevice(same_device_code.clone())]).await);
    let (_, _, mut same_user_code) = device(h.now(), 600);
    same_user_code.user_code_hash = first.user_code_hash.clone();
    assert_conflict(h.commit([Write::CreateDevice(same_user_code.clone())]).await);
    assert_eq!(h.ports.devices.find_by_user_code(&same_device_code.user_code_hash).await?, None);
    assert_eq!(h.ports.devices.find_by_device_code(&same_user_code.device_code_hash).await?, None);
    assert_eq!(h.ports.devices.find_by_user_code(&first.user_code_hash).await?, Some(first));
    Ok(())
}
