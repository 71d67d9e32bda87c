namespace Cluster.Abstractions;

/// <summary>A device of an account: <c>accountId.deviceId</c>, e.g. <c>+15551230001.2</c>.</summary>
/// <param name="AccountId">The account's E.164 phone number.</param>
/// <param name="DeviceId">The device id; 1 is the primary.</param>
[GenerateSerializer, Immutable, Alias("DeviceAddress")]
public readonly record struct DeviceAddress([property: Id(0)] string AccountId, [property: Id(1)] int DeviceId)
{
    /// <summary>The primary device's id.</summary>
    public const int PrimaryDeviceId = 1;

    /// <summary>The key of this device's <c>IDeviceGrain</c>.</summary>
    public string GrainKey => $"{AccountId}.{DeviceId}";

    /// <summary>Whether this is the account's primary device.</summary>
    public bool IsPrimary => DeviceId == PrimaryDeviceId;

    /// <inheritdoc />
    public override string ToString() => GrainKey;

    /// <summary>Parses <c>accountId.deviceId</c>; the account id is not validated here.</summary>
    public static bool TryParse(string? value, out DeviceAddress address)
    {
        address = default;
        var dot = value?.LastIndexOf('.') ?? -1;
        if (dot <= 0 || !int.TryParse(value.AsSpan(dot + 1), System.Globalization.NumberStyles.None, null, out var deviceId) || deviceId < 1)
        {
            return false;
        }

        address = new DeviceAddress(value![..dot], deviceId);
        return true;
    }
}
