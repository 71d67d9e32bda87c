namespace Cluster.Silo.Provisioning;

/// <summary><c>PUT /v1/provisioning/{address}</c>.</summary>
public sealed class ProvisionRequest
{
    /// <summary>The opaque, client-encrypted provisioning body, relayed as given.</summary>
    public string? Body { get; set; }
}

/// <summary>The first frame on a provisioning socket: <c>{"kind":"address","address":...}</c>.</summary>
public sealed record ProvisioningAddressFrame(string Kind, string Address);

/// <summary>The last frame on a provisioning socket: <c>{"kind":"provision","body":...}</c>.</summary>
public sealed record ProvisionFrame(string Kind, string Body);
