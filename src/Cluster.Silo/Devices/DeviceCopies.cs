using Cluster.Silo.Protocol;

namespace Cluster.Silo.Devices;

/// <summary>
/// The shape check shared by everything a client fans out once per destination device (message copies, call offers):
/// the list is there, each item is an object naming a device id (1 or more, once) and a registration id.
/// Which devices must be named is the device grain's check (409/410), not this one.
/// </summary>
internal static class DeviceCopies
{
    /// <param name="items">The list as sent.</param>
    /// <param name="listField">The list's member name, e.g. <c>messages</c>.</param>
    /// <param name="deviceId">Reads an item's device id.</param>
    /// <param name="registrationId">Reads an item's registration id.</param>
    /// <param name="build">Checks the rest of an item (given its field path, device id, registration id) and builds the copy.</param>
    public static List<TCopy> Validate<TItem, TCopy>(
        List<TItem?>? items,
        string listField,
        Func<TItem, int?> deviceId,
        Func<TItem, int?> registrationId,
        Func<TItem, string, int, int, TCopy> build)
        where TItem : class
    {
        if (items is null)
        {
            throw ApiException.MissingField(listField);
        }

        var valid = new List<TCopy>(items.Count);
        var seen = new HashSet<int>();
        for (var i = 0; i < items.Count; i++)
        {
            var field = $"{listField}[{i}]";
            var item = items[i] ?? throw ApiException.InvalidField(field, "must be an object");
            var id = deviceId(item) ?? throw ApiException.MissingField($"{field}.deviceId");
            if (id < 1)
            {
                throw ApiException.InvalidField($"{field}.deviceId", "must be a device id (1 or more)");
            }

            if (!seen.Add(id))
            {
                throw ApiException.InvalidField($"{field}.deviceId", $"device {id} is named twice");
            }

            var registration = registrationId(item) ?? throw ApiException.MissingField($"{field}.registrationId");
            valid.Add(build(item, field, id, registration));
        }

        return valid;
    }
}
