using System.Text.Json;

namespace Cluster.Client.Messaging;

/// <summary>A live event on the device socket (<c>{"kind":"event","event":{"type":...}}</c>). Events are not stored.</summary>
/// <param name="Type">The event's <c>type</c>.</param>
public abstract record DeviceEvent(string Type)
{
    /// <summary>Reads an event object; a type this SDK does not know becomes an <see cref="UnknownEvent"/>.</summary>
    public static DeviceEvent Parse(JsonElement json)
    {
        var type = json.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        return type switch
        {
            "deviceListChanged" => new DeviceListChanged(json.GetProperty("accountId").GetString()!, json.GetProperty("version").GetInt64()),
            "identityChanged" => new IdentityChanged(json.GetProperty("accountId").GetString()!, json.GetProperty("version").GetInt64()),
            "keysLow" => new KeysLow(json.GetProperty("oneTimeCount").GetInt32(), json.GetProperty("kemOneTimeCount").GetInt32()),
            "queueOverflow" => new QueueOverflow(json.GetProperty("dropped").GetInt64()),
            "companionsExpiring" => new CompanionsExpiring(DateTimeOffset.FromUnixTimeMilliseconds(json.GetProperty("unlinkAt").GetInt64())),
            "callOffer" => new CallOffered(
                json.GetProperty("callId").GetString()!,
                json.GetProperty("from").GetString()!,
                json.GetProperty("fromDevice").GetInt32(),
                json.GetProperty("payload").GetBytesFromBase64()),
            "callAnswered" => new CallAnswered(
                json.GetProperty("callId").GetString()!, json.GetProperty("byDevice").GetInt32(), json.GetProperty("payload").GetBytesFromBase64()),
            "callAnsweredElsewhere" => new CallAnsweredElsewhere(json.GetProperty("callId").GetString()!),
            "callIce" => new CallIce(json.GetProperty("callId").GetString()!, json.GetProperty("payload").GetBytesFromBase64()),
            "callEnded" => new CallEnded(json.GetProperty("callId").GetString()!, json.GetProperty("reason").GetString()!),
            "appStateChanged" => new AppStateChanged(json.GetProperty("collection").GetString()!, json.GetProperty("version").GetInt64()),
            _ => new UnknownEvent(type, json.Clone()),
        };
    }
}

/// <summary>An account's devices changed (link, unlink or a new signed list): refetch them before the next send.</summary>
/// <param name="AccountId">The account whose devices changed.</param>
/// <param name="Version">The account's device-list version, one higher with each change.</param>
public sealed record DeviceListChanged(string AccountId, long Version) : DeviceEvent("deviceListChanged");

/// <summary>
/// A contact moved to a new phone (re-registered): a new primary with a new identity key, every companion unlinked.
/// Fetch its devices again (<see cref="ClusterClient.GetAccountDevicesAsync"/>), start new sessions, and tell the user
/// its safety number changed; nothing sent to the old devices can be read by the new one.
/// </summary>
/// <param name="AccountId">The account that re-registered.</param>
/// <param name="Version">The account's device-list version after the change.</param>
public sealed record IdentityChanged(string AccountId, long Version) : DeviceEvent("identityChanged");

/// <summary>The device's one-time key count dropped below 10: upload more with <see cref="ClusterClient.UploadKeysAsync"/>.</summary>
/// <param name="OneTimeCount">One-time EC prekeys left.</param>
/// <param name="KemOneTimeCount">One-time KEM prekeys left.</param>
public sealed record KeysLow(int OneTimeCount, int KemOneTimeCount) : DeviceEvent("keysLow");

/// <summary>The device's queue overflowed while it was away and the oldest envelopes were dropped.</summary>
/// <param name="Dropped">How many were dropped.</param>
public sealed record QueueOverflow(long Dropped) : DeviceEvent("queueOverflow");

/// <summary>The account's primary has been away long; every companion is unlinked at <paramref name="UnlinkAt"/> unless the primary connects first.</summary>
/// <param name="UnlinkAt">When the companions are unlinked (<c>Linking:CompanionExpiryDays</c> after the primary's last-seen day).</param>
public sealed record CompanionsExpiring(DateTimeOffset UnlinkAt) : DeviceEvent("companionsExpiring");

/// <summary>A call rings this device.</summary>
/// <param name="CallId">The call.</param>
/// <param name="From">The caller's account.</param>
/// <param name="FromDevice">The caller's device.</param>
/// <param name="Payload">The offer sealed for this device.</param>
public sealed record CallOffered(string CallId, string From, int FromDevice, byte[] Payload) : DeviceEvent("callOffer");

/// <summary>To the caller device: a callee device answered.</summary>
/// <param name="CallId">The call.</param>
/// <param name="ByDevice">The callee device that answered.</param>
/// <param name="Payload">Its answer.</param>
public sealed record CallAnswered(string CallId, int ByDevice, byte[] Payload) : DeviceEvent("callAnswered");

/// <summary>To every other callee device: another device of the account answered; stop ringing.</summary>
/// <param name="CallId">The call.</param>
public sealed record CallAnsweredElsewhere(string CallId) : DeviceEvent("callAnsweredElsewhere");

/// <summary>An ICE candidate relayed from the other party's device.</summary>
/// <param name="CallId">The call.</param>
/// <param name="Payload">The sealed candidate.</param>
public sealed record CallIce(string CallId, byte[] Payload) : DeviceEvent("callIce");

/// <summary>The call ended.</summary>
/// <param name="CallId">The call.</param>
/// <param name="Reason"><c>rejected</c>, <c>hangup</c> or <c>timeout</c>.</param>
public sealed record CallEnded(string CallId, string Reason) : DeviceEvent("callEnded");

/// <summary>
/// Another device of the account stored a new version of an app state collection: fetch it from the version this
/// device holds (<see cref="ClusterClient.FetchAppStateAsync"/>).
/// </summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Version">Its new latest version.</param>
public sealed record AppStateChanged(string Collection, long Version) : DeviceEvent("appStateChanged");

/// <summary>An event of a type this SDK version does not know.</summary>
/// <param name="Type">Its <c>type</c>.</param>
/// <param name="Json">The whole event object.</param>
public sealed record UnknownEvent(string Type, JsonElement Json) : DeviceEvent(Type);
