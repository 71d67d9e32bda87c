namespace Cluster.Client.Calls;

/// <summary>A call offer for one callee device: its SRTP master secret sealed with that device's session.</summary>
/// <param name="DeviceId">The callee device.</param>
/// <param name="RegistrationId">Its registration id.</param>
/// <param name="Payload">The sealed offer.</param>
public sealed record CallOffer(int DeviceId, int RegistrationId, byte[] Payload);

/// <summary><c>GET /v1/calls/{callId}</c>: this device's own offer of a call that still rings, for a device woken by a call push.</summary>
/// <param name="CallId">The call.</param>
/// <param name="From">The caller account.</param>
/// <param name="FromDevice">The calling device.</param>
/// <param name="Payload">The sealed offer for this device.</param>
/// <param name="RingsUntil">When the call stops ringing (Unix ms).</param>
public sealed record RingingCallOffer(string CallId, string From, int FromDevice, byte[] Payload, long RingsUntil);
