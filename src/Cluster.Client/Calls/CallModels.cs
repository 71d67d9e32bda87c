namespace Cluster.Client.Calls;

/// <summary>A call offer for one callee device: its SRTP master secret sealed with that device's session.</summary>
/// <param name="DeviceId">The callee device.</param>
/// <param name="RegistrationId">Its registration id.</param>
/// <param name="Payload">The sealed offer.</param>
public sealed record CallOffer(int DeviceId, int RegistrationId, byte[] Payload);
