using System.Text.RegularExpressions;

namespace Cluster.Abstractions.Accounts;

/// <summary>Account ids are E.164 phone numbers: <c>^\+[1-9][0-9]{6,14}$</c>.</summary>
public static partial class AccountIds
{
    /// <summary>Whether <paramref name="accountId"/> is a well-formed E.164 number.</summary>
    public static bool IsValid(string? accountId) => accountId is not null && E164().IsMatch(accountId);

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$", RegexOptions.CultureInvariant)]
    private static partial Regex E164();
}
