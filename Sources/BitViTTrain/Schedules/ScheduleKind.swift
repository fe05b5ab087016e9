/// The learning-rate schedules a recipe can name (`schedule.name`).
public enum ScheduleKind: String, NamedChoice {
    /// `CosineSchedule`.
    case cosine
    /// `ConstantSchedule`.
    case constant
}
