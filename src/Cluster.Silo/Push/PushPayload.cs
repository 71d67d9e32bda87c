using System.Security.Cryptography;
using System.Text;
using Cluster.Abstractions.Push;

namespace Cluster.Silo.Push;

/// <summary>
/// What every kind's push says, whatever its wire shape: a version, the kind of wake-up (<c>wake</c>, <c>call</c>,
/// <c>callEnded</c>) and, for calls, the call id; never any content, sender or key. Holds no state.
/// </summary>
internal static class PushPayload
{
    public static string KindName(PushReason reason) => reason switch
    {
        PushReason.CallOffer => "call",
        PushReason.CallEnded => "callEnded",
        _ => "wake",
    };

    /// <summary>
    /// A call's replace-me key for the push service (Web Push <c>Topic</c>, APNs <c>apns-collapse-id</c>): 32 base64url
    /// characters of the call id's hash (RFC 8030 §5.4 allows at most 32), so the cancel replaces a ring still waiting.
    /// </summary>
    public static string CallTopic(string callId) => Base64Url.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(callId)).AsSpan(0, 24));
}
