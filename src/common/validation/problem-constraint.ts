import { ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

/**
 * A class-validator constraint (for `@Validate(…)`) made of a function that says what is wrong
 * with a value, given the object it is in, or null when nothing is: that sentence is the error.
 */
export function problemConstraint(name: string, problem: (value: unknown, object: object) => string | null, fallback: string): new () => ValidatorConstraintInterface {
  @ValidatorConstraint({ name })
  class ProblemConstraint implements ValidatorConstraintInterface {
    validate(value: unknown, args: ValidationArguments): boolean {
      return problem(value, args.object) === null;
    }

    defaultMessage(args: ValidationArguments): string {
      return problem(args.value, args.object) ?? fallback;
    }
  }
  return ProblemConstraint;
}
